"""The "Class" page: a teacher's challenge, the join code and QR, and the projected board."""
