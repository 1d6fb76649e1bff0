"""Secrets derived from the PKI's vault-encrypted seed, so that none has to be stored or handed around."""

from __future__ import annotations

import hashlib
import os
from typing import Any

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

DOCUMENTATION = r"""
---
name: medledger_secret
short_description: A secret derived from the PKI seed for the given purpose
description:
  - Returns SHA-256 over the seed in C(medledger_pki_dir)/seed.vault (ansible-vault encrypted, made by the
    pki_root role) and the terms, joined by colons. The same terms give the same secret on every run, so
    registrar passwords and enrolment secrets need no storage; different terms give unrelated secrets.
options:
  _terms:
    description: What the secret is for, e.g. C(registrar), C(ca-orgpatient).
    required: true
"""

EXAMPLES = r"""
- name: Enrolment secret of a peer at its organisation's CA
  ansible.builtin.debug:
    msg: "{{ lookup('medledger_secret', 'enrol', 'ca-orgpatient', 'peerxinqiao') }}"
  no_log: true
"""

RETURN = r"""
_raw:
  description: One 64-character hex secret.
  type: list
  elements: str
"""


class LookupModule(LookupBase):  # type: ignore[misc]
    def run(self, terms: list[Any], variables: dict[str, Any] | None = None, **kwargs: Any) -> list[str]:
        variables = variables or {}
        pki_dir = self._templar.template(variables.get("medledger_pki_dir", ""))
        seed_file = os.path.join(str(pki_dir), "seed.vault")
        if not os.path.exists(seed_file):
            raise AnsibleError(f"no PKI seed at {seed_file}: run the pki_root role (playbooks/site.yml) first")
        real = self._loader.get_real_file(seed_file, decrypt=True)
        try:
            with open(real) as handle:
                seed = handle.read().strip()
        finally:
            self._loader.cleanup_tmp_file(real)
        label = ":".join(str(term) for term in terms)
        return [hashlib.sha256(f"{seed}:{label}".encode()).hexdigest()]
