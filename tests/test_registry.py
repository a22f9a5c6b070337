"""What names the streams by hand agrees with the registry (tap_jobsources.plugin.providers()): the
tests' oracle, the README's tables and its selection step. Everything else takes the registry's list."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tap_jobsources.completeness import Proof
from tap_jobsources.paging import SinglePage
from tap_jobsources.plugin import providers
from tap_jobsources.reading import OneDetail
from tap_jobsources.tap import TapJobSources
from tests.helpers import all_records, readme_select, streams

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_the_oracle_knows_what_every_stream_must_emit(sandbox):
    assert set(all_records(sandbox)) == streams()


@pytest.mark.parametrize("provider", providers(), ids=lambda p: p.key)
def test_the_readme_lists_each_providers_streams(provider):
    row = next(line for line in README.splitlines() if line.startswith(f"| **{provider.name}**"))
    assert set(re.findall(r"`(\w+)`", row)) == streams(provider.key)


def test_the_readmes_selection_step_leaves_out_the_streams_off_by_default():
    assert readme_select() == ["*.*", *(f"!{name}.*" for name in sorted(streams(default=False)))]


def test_a_stream_read_in_one_answer_declares_that_one_answer_proves_it(sandbox):
    """The declaration says what the reading does: one answer (SINGLE paging, a detail endpoint)
    is declared Proof.SINGLE, and a paged list is not."""
    tap = TapJobSources(config=sandbox.settings(), parse_env_config=False)
    declared = {name: s.proof is Proof.SINGLE for name, s in tap.streams.items()}
    read = {
        name: isinstance(s.paging(), SinglePage) or isinstance(s.strategy, OneDetail) for name, s in tap.streams.items()
    }
    assert declared == read
