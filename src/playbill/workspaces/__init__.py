"""Git workspaces for real coding runs: a worktree and branch per attempt, and integration.

Each attempt of a step works in its own git worktree, on its own branch
``playbill/<run>/<step>/<attempt>``, in a directory outside the repository
(``<worktrees>/<repository>-<hash>/<run>/<step>-<attempt>``; ``<worktrees>``
is ``default_worktrees()`` unless chosen), so the user's work tree is never
touched and no path has a ``.git`` segment agent tools would refuse. Files
the agent's tool writes for itself and editors' swap files are ignored in
that worktree alone (``EDITOR_FILES``, ``Worktree.ignore``). Its work is
committed with a fixed playbill identity, checked against the step's
mutation scope, and applied, patch by patch and never by a three-way merge,
onto the run's integration branch ``playbill/<run>/integration``. The
user's branch moves only when ``integrate_into`` is called, and only as a
fast-forward.

The library is synchronous and thread-safe; the runtime calls it through
``trio.to_thread.run_sync``.
"""

from __future__ import annotations

from ._errors import DetachedHead as DetachedHead
from ._errors import DirtyTree as DirtyTree
from ._errors import GitEnvironment as GitEnvironment
from ._errors import GitFailed as GitFailed
from ._errors import NoCommits as NoCommits
from ._errors import NotARepository as NotARepository
from ._errors import NotFastForward as NotFastForward
from ._errors import PathEscapes as PathEscapes
from ._errors import ScopeViolation as ScopeViolation
from ._errors import UnknownCommit as UnknownCommit
from ._errors import WorkspaceError as WorkspaceError
from ._errors import WorktreeConflict as WorktreeConflict
from ._errors import WorktreeGone as WorktreeGone
from ._errors import WorktreesRefused as WorktreesRefused
from ._excludes import EDITOR_FILES as EDITOR_FILES
from ._excludes import IGNORE_PATTERN as IGNORE_PATTERN
from ._excludes import pattern_problem as pattern_problem
from ._git import IDENTITY_EMAIL as IDENTITY_EMAIL
from ._git import IDENTITY_NAME as IDENTITY_NAME
from ._integrate import Integrator as Integrator
from ._integrate import integrate_into as integrate_into
from ._merge import MergeItem as MergeItem
from ._merge import MergeReport as MergeReport
from ._merge import MergeStatus as MergeStatus
from ._places import default_worktrees as default_worktrees
from ._places import worktrees_dir as worktrees_dir
from ._scope import check_scope as check_scope
from ._scope import confine as confine
from ._secrets import SecretFound as SecretFound
from ._secrets import find_secret as find_secret
from ._stale import StaleWorktree as StaleWorktree
from ._stale import find_stale as find_stale
from ._stale import remove_stale as remove_stale
from ._tamper import GitTampered as GitTampered
from ._views import make_view as make_view
from ._views import remove_view as remove_view
from ._workspaces import AttemptCommit as AttemptCommit
from ._workspaces import Workspaces as Workspaces
from ._workspaces import Worktree as Worktree

__all__ = [
    "EDITOR_FILES",
    "IDENTITY_EMAIL",
    "IDENTITY_NAME",
    "IGNORE_PATTERN",
    "AttemptCommit",
    "DetachedHead",
    "DirtyTree",
    "GitEnvironment",
    "GitFailed",
    "GitTampered",
    "Integrator",
    "MergeItem",
    "MergeReport",
    "MergeStatus",
    "NoCommits",
    "NotARepository",
    "NotFastForward",
    "PathEscapes",
    "ScopeViolation",
    "SecretFound",
    "StaleWorktree",
    "UnknownCommit",
    "WorkspaceError",
    "Workspaces",
    "Worktree",
    "WorktreeConflict",
    "WorktreeGone",
    "WorktreesRefused",
    "check_scope",
    "confine",
    "default_worktrees",
    "find_secret",
    "find_stale",
    "integrate_into",
    "make_view",
    "pattern_problem",
    "remove_stale",
    "remove_view",
    "worktrees_dir",
]
