"""The web process's garbage-collection set-up (config/gc_tuning.py)."""

import gc

import pytest

from config.gc_tuning import gc_tune_for_live_sockets


@pytest.fixture
def restored_gc():
    thresholds = gc.get_threshold()
    yield
    gc.set_threshold(*thresholds)
    gc.unfreeze()


def test_import_time_objects_are_frozen_and_the_first_threshold_raised(settings, restored_gc):
    settings.WEB_GC_GEN0_THRESHOLD = 12_345
    gc.unfreeze()
    gen1, gen2 = gc.get_threshold()[1:]
    gc_tune_for_live_sockets()
    assert gc.get_threshold() == (12_345, gen1, gen2)
    # Everything alive now (modules, settings...) is out of every later full collection's way.
    assert gc.get_freeze_count() > 10_000


def test_zero_keeps_pythons_threshold(settings, restored_gc):
    settings.WEB_GC_GEN0_THRESHOLD = 0
    gc.set_threshold(700, 10, 10)
    gc_tune_for_live_sockets()
    assert gc.get_threshold() == (700, 10, 10)
