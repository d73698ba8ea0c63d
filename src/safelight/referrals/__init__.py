"""Referrals: findings handed to who can act (hotlines, police, NCMEC's CyberTipline)."""
