"""NCMEC CyberTipline reports: models, XML, the submit flow and its record in the store.

Built from the public API description collected in the project's reference notes; see
docs/cybertipline.md. Import the submodules (``models``, ``builder``, ``submit``, ...)
directly: this package imports nothing, so the store can register its tables cheaply.
"""
