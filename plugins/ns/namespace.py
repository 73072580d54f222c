"""A namespace: a mount table over device trees, with union directories and lexical ``..``.

Names resolve as in Plan 9: ``/...`` from the namespace's root, ``#name.spec/...`` from a
fresh attach of a device, anything else from a base directory (the current one). Each step
walks the device the current directory belongs to; when the result is a mount point, the walk
continues in what is mounted there. A union directory (several mounts on one point) walks its
members in order, and the first that has the name wins. ``..`` is lexical: it removes the
previous name from the path, so it can never climb above ``/`` or a device's root.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kernkit.core.devices import QTDIR, QTSYMLINK, Chan, DeviceError, Dir

if TYPE_CHECKING:
    from kernkit.core.process import Thread
    from kernkit.plugins.ns.devtab import Devices

#: bind and mount flags (Plan 9's): where a mount goes in the union, and whether creates go there.
MREPL, MBEFORE, MAFTER, MCREATE = 0, 1, 2, 4
MORDER = 3
PATH_MAX = 4096
NAME_MAX = 255
#: Symbolic links one walk follows at most (Linux's limit): more is ELOOP.
MAXSYMLINKS = 40
#: Walks a namespace remembers (see Namespace._walk_clean).
WALK_CACHE = 1024


class Mount:
    """One member of a mount point's union: a channel on a directory (or a file) and its flags."""

    __slots__ = ("chan", "flags")

    def __init__(self, chan: Chan, flags: int) -> None:
        self.chan = chan
        self.flags = flags


class MountPoint:
    """Everything mounted on one file, in walk order, and the path it was mounted at."""

    __slots__ = ("path", "entries")

    def __init__(self, path: str, entries: list[Mount]) -> None:
        self.path = path
        self.entries = entries


def _join(prefix: str, names: list[str]) -> str:
    if not names:
        return prefix or "/"
    return prefix + "/" + "/".join(names)


class Namespace:
    """A mount table and a root. Processes share one until one of them asks for a copy (the
    namespace is shared across fork, as Plan 9's is without RFNAMEG)."""

    def __init__(self, devices: Devices, root: Chan) -> None:
        self.devices = devices
        #: What the root is (for the ns file): the path it was attached or walked as.
        self.root_source = root.path or "#root"
        root.path = "/"
        self.root = root
        self.mounts: dict[Any, MountPoint] = {}
        #: Clean absolute path -> (a channel on what it names, what the walk depended on: each
        #: directory's device's ``dirgen``, the directory and the number it gave).
        self._walks: dict[str, tuple[Chan, tuple]] = {}

    def __copy__(self) -> Namespace:
        return self  # copying a process's data (fork) shares its namespace

    def copy(self) -> Namespace:
        """A private namespace with the same mounts (later binds in either do not show in the other)."""
        twin = Namespace(self.devices, self.root)
        twin.root_source = self.root_source
        twin.mounts = {key: MountPoint(mp.path, list(mp.entries)) for key, mp in self.mounts.items()}
        return twin

    # --- walking ---------------------------------------------------------------------------

    def _enter(self, chan: Chan) -> Chan:
        """``chan`` or, when it is a mount point, what is mounted there."""
        key = (chan.driver, chan.devno, chan.qid.path)
        mp = self.mounts.get(key)
        if mp is None:
            return chan
        entered = mp.entries[0].chan.clone()
        entered.umh = key
        entered.path = chan.path
        return entered

    def walk1(self, chan: Chan, name: str, caller: Thread | None = None) -> Chan | None:
        """One step from the directory ``chan`` to ``name``, across unions and mount points;
        None when no member of the directory has ``name``."""
        umh = chan.umh
        mp = self.mounts.get(umh) if umh is not None else None
        if mp is None:
            found = chan.driver.walk(chan, name, caller=caller)
        else:
            found = None
            for member in mp.entries:
                mc = member.chan
                if mc.qid.type & QTDIR:
                    found = mc.driver.walk(mc, name, caller=caller)
                    if found is not None:
                        break
        if found is None or not self.mounts:
            return found
        return self._enter(found)

    def _start(self, path: str, base: Chan | None) -> tuple[Chan, list[str], str]:
        """Where a walk of ``path`` starts, the names to walk (``..`` kept, ``.`` dropped) and
        the start's own path."""
        if not path:
            raise DeviceError("ENOENT", "empty path")
        if len(path) >= PATH_MAX:
            raise DeviceError("ENAMETOOLONG")
        first = path[0]
        if first == "/":
            start, prefix, rest = self._enter(self.root), "", path
        elif first == "#":
            prefix, _, rest = path.partition("/")
            start = self.devices.attach(prefix)
            start = self._enter(start) if self.mounts else start
        else:
            if base is None:
                raise DeviceError("ENOENT", "relative path without a directory")
            start, rest = base, path
            prefix = "" if base.path == "/" else base.path
        return start, [n for n in rest.split("/") if n and n != "."], prefix

    def _resolve(
        self, start: Chan, names: list[str], prefix: str, follow: bool, caller: Thread | None
    ) -> Chan:
        """Walk ``names`` from ``start`` (whose path is ``prefix``), following symbolic links
        (the last name's only with ``follow``). ``..`` goes back to the directory the walk came
        from, so it is lexical in the path walked, as in Plan 9, and after a symbolic link
        climbs from where the link led, as on Linux. The result's path is the one walked."""
        chans = [start]
        done: list[str] = []
        pending = names[::-1]  # a stack: the next name is at the end
        links = 0
        while pending:
            name = pending.pop()
            if name == "..":
                if done:
                    done.pop()
                    chans.pop()
                else:  # above where the walk started: the lexical parent of its path, if any
                    parent = _parent_path(prefix)
                    if parent is not None:
                        chans = [self.walk(parent, caller=caller)]
                        prefix = "" if parent == "/" else parent
                continue
            chan = chans[-1]
            if not chan.qid.type & QTDIR:
                raise DeviceError("ENOTDIR")
            if len(name) > NAME_MAX:
                raise DeviceError("ENAMETOOLONG")
            found = self.walk1(chan, name, caller)
            if found is None:
                raise DeviceError("ENOENT")
            if found.qid.type & QTSYMLINK and (pending or follow):
                links += 1
                if links > MAXSYMLINKS:
                    raise DeviceError("ELOOP")
                found.path = _join(prefix, [*done, name])
                target = found.driver.follow(found, caller=caller)
                if target is not None:  # a link to a channel, not to a path: go on from there
                    chans, done, prefix = [target], [], target.path if target.path != "/" else ""
                    continue
                text = found.driver.readlink(found, caller=caller)
                if not text:
                    raise DeviceError("ENOENT", f"{found.path}: an empty symbolic link")
                head, names_in = self._link_start(text)
                if head is not None:
                    chans, done, prefix = [head], [], head.path if head.path != "/" else ""
                pending.extend(names_in[::-1])
                continue
            chans.append(found)
            done.append(name)
        chan = chans[-1]
        if chan is start:  # every other channel in the list is the walk's own already
            chan = chan.clone()
        chan.path = _join(prefix, done)
        return chan

    def _link_start(self, text: str) -> tuple[Chan | None, list[str]]:
        """Where a symbolic link's target starts (None: the link's own directory) and its names."""
        if text[0] == "/":
            head = self._enter(self.root).clone()
            head.path = "/"
        elif text[0] == "#":
            device, _, text = text.partition("/")
            head = self.devices.attach(device)
            head = self._enter(head) if self.mounts else head
        else:
            head = None
        return head, [n for n in text.split("/") if n and n != "."]

    def walk(
        self, path: str, base: Chan | None = None, *, follow: bool = True, caller: Thread | None = None
    ) -> Chan:
        """A new (unopened) channel on the file ``path`` names, relative to ``base`` if relative.
        Symbolic links on the way are followed; one at the end only with ``follow`` (or when
        ``path`` ends in '/'). ENOENT, ENOTDIR, ENAMETOOLONG, ELOOP as on Linux."""
        remembered = self._walks.get(path)  # only clean absolute paths are remembered
        if remembered is not None:
            template, deps = remembered
            for dirgen, directory, generation in deps:
                if dirgen(directory) != generation:
                    del self._walks[path]
                    break
            else:
                chan = Chan(template.driver, template.qid, template.devno, template.aux, path)
                chan.umh = template.umh
                return chan
        if not path:
            raise DeviceError("ENOENT", "empty path")
        clean = path[0] == "/" and len(path) < NAME_MAX and path[-1] != "/"
        if clean and "/." not in path and "//" not in path:
            chan = self._walk_clean(path, follow, caller)
            if chan is not None:
                return chan
        start, names, prefix = self._start(path, base)
        # a trailing '/' or '.' asks for a directory: a link there is followed
        follow = follow or path[-1] == "/" or path.endswith("/.")
        chan = self._resolve(start, names, prefix, follow, caller)
        if path[-1] == "/" and not chan.qid.type & QTDIR:
            raise DeviceError("ENOTDIR")
        return chan

    def _walk_clean(self, path: str, follow: bool, caller: Thread | None) -> Chan | None:
        """:meth:`walk` of an absolute path with no '.', '..', '//' or trailing '/': the common
        case, and most of what an open costs, so walks through directories whose devices say
        when their names change (``dirgen``) are remembered here, and :meth:`walk` checks them
        instead of walking again. None when the path goes through a symbolic link: the general
        walk follows it."""
        mounts = self.mounts
        chan = self.root
        if mounts and (chan.driver, chan.devno, chan.qid.path) in mounts:
            chan = self._enter(chan)
        deps: list[tuple[Any, Chan, int]] | None = []
        for name in path[1:].split("/"):
            if not chan.qid.type & QTDIR:
                if chan.qid.type & QTSYMLINK:
                    return None
                raise DeviceError("ENOTDIR")
            umh = chan.umh
            mp = mounts.get(umh) if umh is not None else None
            if mp is None:  # one directory, no union: the common step, without a list
                driver = chan.driver
                if deps is not None:
                    generation = driver.dirgen(chan)
                    if generation is None:
                        deps = None
                    else:
                        deps.append((driver.dirgen, chan, generation))
                found = driver.walk(chan, name, caller=caller)
            else:
                found = None
                for member in [m.chan for m in mp.entries if m.chan.qid.type & QTDIR]:
                    if deps is not None:
                        generation = member.driver.dirgen(member)
                        deps = None if generation is None else deps
                        if deps is not None:
                            deps.append((member.driver.dirgen, member, generation))
                    found = member.driver.walk(member, name, caller=caller)
                    if found is not None:
                        break
            if found is None:
                raise DeviceError("ENOENT")
            chan = self._enter(found) if mounts else found
        if chan.qid.type & QTSYMLINK:
            if follow:
                return None
            deps = None  # a link itself is not remembered: a followed walk of the path differs
        if deps is not None:
            if len(self._walks) >= WALK_CACHE:
                self._walks.clear()
            self._walks[path] = (chan.clone(), tuple(deps))
        chan.path = path
        return chan

    def walk_parent(
        self, path: str, base: Chan | None = None, *, caller: Thread | None = None
    ) -> tuple[Chan, str]:
        """The directory that holds what ``path`` names, and the last name ("" when ``path``
        names a root, which has no parent). Links on the way are followed, the last name is not."""
        start, names, prefix = self._start(path, base)
        if names and names[-1] == "..":  # what the path names, then its parent
            chan = self._resolve(start, names, prefix, True, caller)
            if _parent_path(chan.path) is None:  # a root
                return chan, ""
            return self.walk_parent(chan.path, caller=caller)
        if not names:
            chan = start.clone()
            chan.path = prefix or "/"
            return chan, ""
        chan = self._resolve(start, names[:-1], prefix, True, caller)
        if not chan.qid.type & QTDIR:
            raise DeviceError("ENOTDIR")
        if len(names[-1]) > NAME_MAX:
            raise DeviceError("ENAMETOOLONG")
        return chan, names[-1]

    # --- files -----------------------------------------------------------------------------

    def open(self, chan: Chan, mode: int, *, caller: Thread | None = None) -> Chan:
        """Open ``chan`` (from :meth:`walk`) for ``mode``; the open channel keeps its path."""
        opened = chan.driver.open(chan, mode, caller=caller)
        if not opened.path:
            opened.path = chan.path
        return opened

    def create(
        self, directory: Chan, name: str, mode: int, perm: int, *, caller: Thread | None = None
    ) -> Chan:
        """Create ``name`` in ``directory``; in a union, in its first member mounted with MCREATE."""
        target = self._create_member(directory)
        created = target.driver.create(target, name, mode, perm, caller=caller)
        created.path = _join("" if directory.path == "/" else directory.path, [name])
        return created

    def symlink(self, directory: Chan, name: str, target: str, *, caller: Thread | None = None) -> None:
        """Make ``name`` in ``directory`` a symbolic link to ``target`` (where create would)."""
        member = self._create_member(directory)
        member.driver.symlink(member, name, target, caller=caller)

    def link(self, chan: Chan, directory: Chan, name: str, *, caller: Thread | None = None) -> None:
        """Give ``chan``'s file the name ``name`` in ``directory`` too: a hard link, only within
        one device instance (EXDEV otherwise)."""
        member = self._member_like(directory, chan)
        chan.driver.link(chan, member, name, caller=caller)

    def _create_member(self, directory: Chan) -> Chan:
        mp = self.mounts.get(directory.umh) if directory.umh is not None else None
        if mp is None:
            return directory
        member = next((m for m in mp.entries if m.flags & MCREATE), None)
        if member is None:
            raise DeviceError("EACCES", f"{directory.path}: union directory without a create member")
        return member.chan.clone()

    def _member_like(self, directory: Chan, chan: Chan) -> Chan:
        """The member of ``directory`` (itself, or one of its union) on ``chan``'s device instance."""
        mp = self.mounts.get(directory.umh) if directory.umh is not None else None
        if mp is not None:
            found = next(
                (m.chan for m in mp.entries if m.chan.driver is chan.driver and m.chan.devno == chan.devno),
                None,
            )
            if found is None:
                raise DeviceError("EXDEV")
            return found
        if directory.driver is not chan.driver or directory.devno != chan.devno:
            raise DeviceError("EXDEV")
        return directory

    def dirread(self, chan: Chan, *, caller: Thread | None = None) -> list[Dir]:
        """The entries of a directory; a union lists each name once, from the first member having it."""
        mp = self.mounts.get(chan.umh) if chan.umh is not None else None
        if mp is None:
            return chan.driver.dirread(chan, caller=caller)
        seen: set[str] = set()
        entries: list[Dir] = []
        for member in mp.entries:
            mc = member.chan
            if not mc.qid.type & QTDIR:
                continue
            for entry in mc.driver.dirread(mc, caller=caller):
                if entry.name not in seen:
                    seen.add(entry.name)
                    entries.append(entry)
        return entries

    def is_mount_point(self, chan: Chan) -> bool:
        return chan.umh is not None or (chan.driver, chan.devno, chan.qid.path) in self.mounts

    def remove(self, chan: Chan, *, caller: Thread | None = None) -> None:
        if self.is_mount_point(chan):
            raise DeviceError("EBUSY", f"{chan.path}: a mount point")
        chan.driver.remove(chan, caller=caller)

    def rename(self, chan: Chan, newdir: Chan, name: str, *, caller: Thread | None = None) -> None:
        """Move ``chan``'s file to ``name`` in ``newdir``: only within one device instance."""
        if self.is_mount_point(chan):
            raise DeviceError("EBUSY", f"{chan.path}: a mount point")
        target = self._member_like(newdir, chan)
        existing = self.walk1(newdir, name, caller)
        if existing is not None and self.is_mount_point(existing):
            raise DeviceError("EBUSY", f"{existing.path}: a mount point")
        chan.driver.rename(chan, target, name, caller=caller)

    # --- bind, mount, unmount --------------------------------------------------------------

    def bind(self, new: Chan, old: Chan, flags: int) -> None:
        """Make ``old`` (a walked channel) show ``new`` too: replace it (MREPL), or join a union
        before (MBEFORE) or after (MAFTER) what is there; MCREATE sends creates to ``new``."""
        new_dir, old_dir = bool(new.qid.type & QTDIR), bool(old.qid.type & QTDIR)
        if new_dir != old_dir:
            raise DeviceError("ENOTDIR", "bind: a directory and a file")
        if flags & MCREATE and not old_dir:
            raise DeviceError("ENOTDIR", "bind -c: not a directory")
        order = flags & MORDER
        if order == MORDER:
            raise DeviceError("EINVAL", "bind: both before and after")
        source = self.mounts.get(new.umh) if new.umh is not None else None
        if source is not None:  # binding a union binds its members
            added = [Mount(m.chan, m.flags & ~MCREATE | (flags & MCREATE)) for m in source.entries]
        else:
            added = [Mount(_unentered(new), flags & MCREATE)]
        key = old.umh if old.umh is not None else (old.driver, old.devno, old.qid.path)
        mp = self.mounts.get(key)
        if order == MREPL or not old_dir:
            entries = added
        else:
            present = list(mp.entries) if mp is not None else [Mount(_unentered(old), 0)]
            entries = added + present if order == MBEFORE else present + added
        self.mounts[key] = MountPoint(mp.path if mp is not None else old.path, entries)
        self._walks.clear()

    def mount(self, chan: Chan, old: Chan, flags: int, spec: str = "", device: str = "mnt") -> None:
        """Mount the file server spoken to over the open channel ``chan`` at ``old``: the device
        ``device`` (the 9P client, ``#mnt``) turns it into a tree (``attach_chan(chan, spec)``)."""
        try:
            driver = self.devices.driver(device)
        except DeviceError as exc:
            raise DeviceError("ENODEV", exc.message) from None
        attach = getattr(driver, "attach_chan", None)
        if attach is None:
            raise DeviceError("ENODEV", f"#{device} cannot mount a channel")
        root = attach(chan, spec)
        if not root.path:
            root.path = f"#{device}"
        self.bind(root, old, flags)

    def unmount(self, old: Chan, new: Chan | None = None) -> None:
        """Undo the mounts on ``old``: all of them, or only ``new``'s."""
        key = old.umh if old.umh is not None else (old.driver, old.devno, old.qid.path)
        mp = self.mounts.get(key)
        if mp is None:
            raise DeviceError("EINVAL", f"{old.path}: not a mount point")
        self._walks.clear()
        if new is None:
            del self.mounts[key]
            return
        gone = {(m.chan.driver, m.chan.devno, m.chan.qid.path) for m in self._members(new)}
        kept = [m for m in mp.entries if (m.chan.driver, m.chan.devno, m.chan.qid.path) not in gone]
        if len(kept) == len(mp.entries):
            raise DeviceError("ENOENT", f"{new.path} is not mounted on {old.path}")
        if kept:
            mp.entries = kept
        else:
            del self.mounts[key]

    def _members(self, chan: Chan) -> list[Mount]:
        mp = self.mounts.get(chan.umh) if chan.umh is not None else None
        return list(mp.entries) if mp is not None else [Mount(chan, 0)]

    def describe(self) -> str:
        """The mount table as bind commands (what /proc/PID/ns shows)."""
        lines = []
        if (self.root.driver, self.root.devno, self.root.qid.path) not in self.mounts:
            lines.append(f"bind {_quote(self.root_source)} /")
        for key, mp in self.mounts.items():
            # replayable: a union keeping its own directory binds that first, then what goes
            # before it (-b, nearest first) and after it (-a)
            own = next(
                (
                    i
                    for i, m in enumerate(mp.entries)
                    if (m.chan.driver, m.chan.devno, m.chan.qid.path) == key
                ),
                0,
            )
            order = [(own, "")] + [(i, "b") for i in range(own - 1, -1, -1)]
            order += [(i, "a") for i in range(own + 1, len(mp.entries))]
            for index, where in order:
                mount = mp.entries[index]
                flags = where + ("c" if mount.flags & MCREATE else "")
                option = f"-{flags} " if flags else ""
                lines.append(f"bind {option}{_quote(mount.chan.path)} {_quote(mp.path)}")
        return "".join(line + "\n" for line in lines)


def _parent_path(path: str) -> str | None:
    """The lexical parent of a walk's start path; None for a root ("", "/", "#dev")."""
    if path in ("", "/") or "/" not in path:
        return None
    return path.rsplit("/", 1)[0] or "/"


def _unentered(chan: Chan) -> Chan:
    """A channel for the file itself, not for what may be mounted on it."""
    twin = chan.clone()
    twin.umh = None
    twin.path = chan.path
    return twin


def _quote(text: str) -> str:
    return f"'{text}'" if text.startswith("#") or " " in text else text
