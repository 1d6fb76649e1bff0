"""Write a set of small public files under one folder in a single module run."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: medledger_files
short_description: Write many small files (certificates, settings) under one folder in one run
description:
  - Makes every file of C(files) under C(root) hold exactly its content, with the given owner, group and mode,
    creating the folders on the way with C(directory_mode). Files and folders already right are not touched;
    the result is changed only when something was written.
  - One run instead of a copy or file task per file: on hosts that get dozens of certificates, the per-task
    cost, not the bytes, is what a deployment waits for.
  - Each file is written beside its target and renamed into place, so a reader never sees half a file.
  - For public material only (certificates, configuration): contents are module arguments.
  - Supports check mode.
options:
  root: {description: The folder the paths are relative to; created when missing., type: path, required: true}
  files:
    description: Relative path (no C(..), not absolute) to the file's content.
    type: dict
    required: true
  owner: {description: Owner of the files and of the folders made or found below root., type: str, default: root}
  group: {description: Their group., type: str, default: root}
  mode: {description: The files' mode., type: str, default: "0644"}
  directory_mode: {description: The folders' mode (root's too)., type: str, default: "0755"}
author: MedLedger
"""

EXAMPLES = r"""
- name: Write an organisation's verifying MSP
  medledger_files:
    root: /etc/medledger/fabric/orgs
    files:
      OrgPatient/msp/cacerts/root.pem: "{{ enrolment_root }}"
      OrgPatient/msp/config.yaml: "{{ lookup('template', 'node-ous.yaml.j2') }}"
"""

RETURN = r"""
written:
  description: The paths (relative to root) whose content, owner or mode was changed or would be in check mode.
  returned: always
  type: list
  elements: str
  sample: [OrgPatient/msp/config.yaml]
"""

import grp
import os
import pwd
import tempfile
from pathlib import PurePosixPath
from typing import Any

from ansible.module_utils.basic import AnsibleModule


def relative_paths_problem(paths: list[str]) -> str | None:
    for path in paths:
        parts = PurePosixPath(path).parts
        if not path or path.startswith("/") or ".." in parts:
            return f"{path!r} is not a path below root"
    return None


def needs(path: str, content: bytes | None, uid: int, gid: int, mode: int) -> bool:
    """Whether the file or folder at path differs from what is wanted (content None: a folder)."""
    try:
        status = os.lstat(path)
    except FileNotFoundError:
        return True
    if (status.st_uid, status.st_gid, status.st_mode & 0o7777) != (uid, gid, mode):
        return True
    if content is None:
        return False
    with open(path, "rb") as existing:
        return existing.read() != content


def ensure_folder(path: str, uid: int, gid: int, mode: int) -> None:
    os.makedirs(path, exist_ok=True)
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def write_file(path: str, content: bytes, uid: int, gid: int, mode: int) -> None:
    descriptor, partial = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".medledger-")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(content)
        os.chown(partial, uid, gid)
        os.chmod(partial, mode)
        os.replace(partial, path)
    except BaseException:
        os.unlink(partial)
        raise


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "root": {"type": "path", "required": True},
            "files": {"type": "dict", "required": True},
            "owner": {"type": "str", "default": "root"},
            "group": {"type": "str", "default": "root"},
            "mode": {"type": "str", "default": "0644"},
            "directory_mode": {"type": "str", "default": "0755"},
        },
        supports_check_mode=True,
    )
    params: dict[str, Any] = module.params
    files = {str(path): str(content).encode() for path, content in params["files"].items()}
    problem = relative_paths_problem(sorted(files))
    if problem:
        module.fail_json(msg=problem)
    try:
        uid, gid = pwd.getpwnam(params["owner"]).pw_uid, grp.getgrnam(params["group"]).gr_gid
        mode, directory_mode = int(params["mode"], 8), int(params["directory_mode"], 8)
    except (KeyError, ValueError) as bad:
        module.fail_json(msg=f"owner, group or mode is not usable here: {bad}")
    root = params["root"]
    # Every folder between root and each file, so that none is left with the umask's mode.
    folders = {
        os.path.normpath(os.path.join(root, str(parent))) for path in files for parent in PurePosixPath(path).parents
    }
    written = []
    for folder in sorted(folders, key=len):  # parents before children
        if needs(folder, None, uid, gid, directory_mode):
            written.append(os.path.relpath(folder, root) + "/")
            if not module.check_mode:
                ensure_folder(folder, uid, gid, directory_mode)
    for path, content in sorted(files.items()):
        target = os.path.join(root, path)
        if needs(target, content, uid, gid, mode):
            written.append(path)
            if not module.check_mode:
                write_file(target, content, uid, gid, mode)
    module.exit_json(changed=bool(written), written=written)


if __name__ == "__main__":
    main()
