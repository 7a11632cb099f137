"""Garbage collection for a process that holds many live sockets (settings.WEB_GC_GEN0_THRESHOLD).

Called once the ASGI application is built. Everything alive then (modules,
settings, URL patterns, templates) lives as long as the process: freezing it
keeps every later full collection from walking it again. A larger first
threshold makes young collections rarer, so fewer of a tick's short-lived
objects happen to be alive at one and get promoted towards the full
collection they would otherwise trigger. Found and measured with the fan-out
benchmark (docs/performance.md): at 1000 sockets a full collection took
0.15-0.19 s every ~10 s, the p99 of delivery latency.
"""

import gc
import logging

from django.conf import settings

logger = logging.getLogger(__name__)


def gc_tune_for_live_sockets() -> None:
    gc.freeze()
    threshold = settings.WEB_GC_GEN0_THRESHOLD
    if threshold > 0:
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(threshold, gen1, gen2)
    logger.debug("Garbage collection: %d objects frozen, thresholds %s", gc.get_freeze_count(), gc.get_threshold())
