"""The sharing proxy (the paper's semi-trusted cloud server): shares by proxy re-encryption, each recorded on the
Data Usage Channel before it is delivered. It never holds a plaintext, a data key or a secret key."""
