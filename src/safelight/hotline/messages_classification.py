"""Messages of the classification and hashes panels that Python picks by a value (the
templates hold the rest). ``N_`` only marks a message; the page translates it."""

from __future__ import annotations

from safelight.hotline.classification import AgeGroup, Gender, Illegality, State


def N_(message: str) -> str:  # noqa: N802 - the conventional gettext marker name
    return message


ILLEGALITY = {
    Illegality.BASELINE.value: N_("Illegal everywhere (INTERPOL baseline)"),
    Illegality.NATIONAL.value: N_("Illegal under national law"),
    Illegality.NOT_ILLEGAL.value: N_("Not illegal"),
}
AGE_GROUPS = {
    AgeGroup.INFANT.value: N_("Infant"),
    AgeGroup.PRE_PUBESCENT.value: N_("Pre-pubescent"),
    AgeGroup.PUBESCENT.value: N_("Pubescent"),
    AgeGroup.UNKNOWN.value: N_("Age group not known"),
}
GENDERS = {
    Gender.FEMALE.value: N_("Female"),
    Gender.MALE.value: N_("Male"),
    Gender.BOTH.value: N_("Both female and male"),
    Gender.UNKNOWN.value: N_("Gender not known"),
}
STATES = {
    State.AWAITING.value: N_("Awaiting confirmation by a second analyst"),
    State.CONFIRMED.value: N_("Confirmed by %(name)s"),
    State.DISAGREED.value: N_("%(name)s disagreed: %(reason)s"),
    State.EFFECTIVE.value: N_("In effect"),
}
HASH_SOURCES = {
    "analyst": N_("Entered by hand"),
    "scan": N_("Scan run %(run)s: %(path)s"),
}
# Why a form was refused, by the error's code or the field's problem.
PROBLEMS = {
    "required": N_("%(field)s: this is required."),
    "required_illegal": N_("%(field)s: required for illegal material."),
    "choice": N_("%(field)s: choose one from the list."),
    "too_long": N_("%(field)s: this text is too long."),
    "hash_line": N_("Line %(number)s is not a hash Safelight knows: %(line)s"),
    "hashes_missing": N_("Give at least one hash, one per line."),
    "own_classification": N_(
        "Four eyes: a different analyst must confirm or dispute this classification."
    ),
    "review_needs_a_person": N_("Only a signed-in person can confirm or dispute."),
    "not_awaiting_confirmation": N_("This classification is not awaiting confirmation."),
    "classification_changed": N_(
        "The classification changed while you were looking at it. Look at it again."
    ),
    "unclassified": N_("This item is not classified yet."),
    "not_bankable": N_("Only an item classified illegal, and confirmed, can be banked."),
    "no_hashes": N_("No hashes are known for this item yet."),
    "list_not_found": N_("There is no list with that name."),
    "allow_list": N_("That is an allow list (known false positives): choose a block list."),
    "run_not_found": N_("There is no scan run with that number."),
    "too_many_scan_items": N_("That scan run has too many items for one address."),
    "other": N_("This could not be saved: %(message)s"),
}
FIELDS = {
    "illegality": N_("Illegality"),
    "age_group": N_("Age group"),
    "gender": N_("Gender"),
    "site_type": N_("Type of site"),
    "commercial": N_("Commercial"),
    "notes": N_("Notes"),
    "reason": N_("Why do you disagree?"),
}
# Why an item cannot be banked yet (Banker's reasons, by their start).
NOT_BANKABLE = {
    "the item is not classified yet": N_("This item is not classified yet."),
    "its classification awaits": N_("Its classification awaits confirmation."),
    "a second analyst disagreed": N_("A second analyst disagreed: classify it again."),
    "it is classified not illegal": N_("It is classified not illegal."),
    "no hashes are known": N_("No hashes are known for this item yet."),
}
PAGE_TITLE = N_("Classification of item %(number)s")
