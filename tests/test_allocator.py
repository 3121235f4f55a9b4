"""allocator.keep_freed_memory: glibc's malloc keeps freed big blocks for reuse, unless turned off."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from sdg_factory.allocator import keep_freed_memory

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def test_turned_off_by_the_environment(monkeypatch):
    monkeypatch.setenv("SDG_FACTORY_MALLOC_TUNING", "0")
    assert keep_freed_memory() is False


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_a_tuned_process_reuses_a_freed_big_block_instead_of_mapping_new_pages():
    """In a fresh interpreter: a 64 MB array freed and allocated again gets the same memory when
    tuned (from the heap), and fresh pages (another mmap) without the tuning."""
    code = (
        "import numpy as np, resource, sys\n"
        "from sdg_factory.allocator import keep_freed_memory\n"
        "tuned = keep_freed_memory() if sys.argv[1] == '1' else False\n"
        "for _ in range(3):\n"
        "    a = np.ones(8_000_000); del a\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "for _ in range(5):\n"
        "    a = np.ones(8_000_000); del a\n"
        "print(int(tuned), resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)\n"
    )
    runs = {flag: subprocess.run([sys.executable, "-c", code, flag], capture_output=True, text=True, check=True)
            .stdout.split() for flag in ("0", "1")}
    assert runs["1"][0] == "1" and runs["0"][0] == "0"
    faults_tuned, faults_plain = int(runs["1"][1]), int(runs["0"][1])
    # each 64 MB array faulted its pages in again (fewer faults than 4 KB pages: numpy asks for
    # huge pages), and none once the freed block is kept
    assert faults_plain > 5 * 32
    assert faults_tuned < faults_plain / 10
