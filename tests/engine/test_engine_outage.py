"""The plain `pulumi up` waiting for a job while Vertex (the emulator) goes away and comes back,
refusing connections meanwhile as in a network blip: an outage shorter than
api_outage_tolerance_seconds is ridden out, a longer one fails the up as its wait bound does
and the next up adopts the job, and Ctrl-C during an outage stops the up at once.

Each test acts on what the CLI prints as it prints it (read line by line from its output),
and keeps the job running on a frozen emulator clock until it lets it finish."""

from __future__ import annotations

import signal
import subprocess
import threading

import pytest

from tests.engine.conftest import FreezableClock, Project

pytestmark = pytest.mark.engine

# Generous bounds on waiting for the CLI to say something: a loaded machine, never a timing claim.
SAY_SECONDS = 180.0


class Said:
    """The output of a `pulumi` run in the background, read as it comes."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.text = ""
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.text += line
                self._changed.notify_all()

    def wait_for(self, phrase: str) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: phrase in self.text, SAY_SECONDS), (
                f"pulumi never said {phrase!r}:\n{self.text}"
            )

    def end(self) -> str:
        """Everything it said, once it has exited."""
        self.process.wait(timeout=SAY_SECONDS)
        self._reader.join(timeout=SAY_SECONDS)
        return self.text


def tuning_jobs_in_state(project: Project) -> list[dict[str, object]]:
    return [r for r in project.state().get("resources", []) if str(r["type"]).endswith(":TuningJob")]


def test_an_outage_shorter_than_the_window_leaves_the_up_green_with_one_job(project: Project, clock: FreezableClock):
    clock.freeze()  # the job runs until the outage is over
    said = Said(project.start_pulumi("up", "--yes"))
    said.wait_for("submitted tuning job")
    project.emulator.go_offline()
    said.wait_for("Vertex AI unreachable (connection refused), still retrying (up to 10 min); the job is not affected")
    project.emulator.come_back()
    clock.resume()
    output = said.end()

    assert said.process.returncode == 0, output
    assert "Vertex AI answers again after " in output
    (job,) = project.jobs()
    out = project.outputs()
    assert out["tuningJobName"] == job.name and "Paris" in project.ask(out)


def test_an_outage_longer_than_the_window_fails_the_up_and_the_next_up_adopts_the_job(
    project: Project, clock: FreezableClock
):
    project.set_job(api_outage_tolerance_seconds=2)
    clock.freeze()
    said = Said(project.start_pulumi("up", "--yes"))
    said.wait_for("submitted tuning job")
    project.emulator.go_offline()
    output = said.end()
    project.emulator.come_back()

    assert said.process.returncode != 0
    assert "past api_outage_tolerance_seconds (2s), so this update stops here" in output
    assert "keeps running in Vertex; the next `pulumi up` adopts it" in output
    assert tuning_jobs_in_state(project) == []  # nothing recorded
    (running,) = project.jobs()
    assert running.live

    clock.resume()
    up = project.pulumi("up", "--yes")
    out = project.outputs()
    assert out["tuningJobName"] == running.name and f"adopted tuning job {running.name}" in up.stdout
    assert "Paris" in project.ask(out)
    assert len(project.jobs()) == 1  # never paid twice


def test_ctrl_c_during_an_outage_stops_the_up_at_once_and_the_next_up_adopts_the_job(
    project: Project, clock: FreezableClock
):
    clock.freeze()
    said = Said(project.start_pulumi("up", "--yes"))
    said.wait_for("submitted tuning job")
    project.emulator.go_offline()
    said.wait_for("Vertex AI unreachable")
    said.process.send_signal(signal.SIGINT)  # the first Ctrl-C, inside a window of 10 minutes
    output = said.end()
    project.emulator.come_back()

    assert said.process.returncode != 0
    assert "pulumi is cancelling (Ctrl-C)" in output and "keeps running in Vertex" in output
    assert tuning_jobs_in_state(project) == []
    (running,) = project.jobs()
    assert running.live

    clock.resume()
    project.recovered_up_adopts(running)
