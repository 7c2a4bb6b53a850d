"""One result per host, assembled from ansible-runner events.

The role records ``asr_mobility_service_result`` with ``set_fact``; a host that failed a task (not ignored) or was
unreachable gets the task's message instead. Statuses are the CLI contract: installed, upgraded, registered,
unchanged, failed, unreachable.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

RESULT_FACT = "asr_mobility_service_result"
STATUSES = ("installed", "upgraded", "registered", "unchanged", "failed", "unreachable")
PROBLEM_STATUSES = ("failed", "unreachable")


@dataclass
class HostOutcome:
    name: str
    status: str
    changed: bool = False
    reboot_required: bool = False
    message: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class OutcomeCollector:
    """Feed it every runner event (``collect``); read ``outcomes`` once the run ended."""

    secrets: tuple[str, ...] = ()
    _outcomes: dict[str, HostOutcome] = field(default_factory=dict)
    _seen_hosts: list[str] = field(default_factory=list)

    def redact(self, text: str) -> str:
        """Defence in depth: the role never puts the passphrase in a message, but a message must never carry it."""
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "********")
        return text

    def collect(self, event: dict[str, Any]) -> HostOutcome | None:
        """Update the host the event is about; return its outcome when it became final (for live progress)."""
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        host = data.get("host")
        if host and host not in self._seen_hosts:
            self._seen_hosts.append(host)
        if kind == "playbook_on_stats":
            self._finish(data)
            return None
        if not host or host in self._outcomes:
            return None
        res = data.get("res") or {}
        if kind == "runner_on_unreachable" and not data.get("ignore_errors"):
            return self._set(HostOutcome(host, "unreachable", message=self._message(res, "host unreachable")))
        if kind == "runner_on_failed" and not data.get("ignore_errors"):
            task = data.get("task", "")
            message = self._message(res, f"task failed: {task}")
            return self._set(HostOutcome(host, "failed", message=message))
        if kind == "runner_on_ok":
            result = (res.get("ansible_facts") or {}).get(RESULT_FACT)
            if isinstance(result, dict):
                status = str(result.get("status", "failed"))
                if status not in STATUSES:
                    status = "failed"
                return self._set(
                    HostOutcome(
                        host,
                        status,
                        changed=_as_bool(result.get("changed")),
                        reboot_required=_as_bool(result.get("reboot_required")),
                        message=self.redact(str(result.get("message", ""))),
                    )
                )
        return None

    def _message(self, res: dict[str, Any], fallback: str) -> str:
        msg = res.get("msg") or res.get("stderr") or fallback
        return self.redact(" ".join(str(msg).split()))

    def _set(self, outcome: HostOutcome) -> HostOutcome:
        self._outcomes[outcome.name] = outcome
        return outcome

    def _finish(self, stats: dict[str, Any]) -> None:
        """Hosts the recap knows but that never recorded an outcome (e.g. the play stopped) count as failed."""
        for key in ("ok", "failures", "dark", "skipped", "changed", "processed"):
            for host in (stats.get(key) or {}):
                if host not in self._seen_hosts:
                    self._seen_hosts.append(host)
        for host in self._seen_hosts:
            if host not in self._outcomes:
                self._outcomes[host] = HostOutcome(host, "failed", message="the play ended before this host reported")

    def abort(self, message: str) -> None:
        """The run ended without a recap (timeout, crash): every host seen without an outcome failed."""
        for host in self._seen_hosts:
            if host not in self._outcomes:
                self._outcomes[host] = HostOutcome(host, "failed", message=self.redact(message))

    @property
    def outcomes(self) -> list[HostOutcome]:
        return sorted(self._outcomes.values(), key=lambda o: o.name)


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1")
    return bool(value)
