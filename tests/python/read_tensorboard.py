"""Reads a run directory's TensorBoard event files with TensorBoard's own reader and prints, per
scalar tag, `tag step value` lines (what `tensorboard --logdir` would plot).
usage: read_tensorboard.py RUN_DIR"""
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

acc = EventAccumulator(sys.argv[1], purge_orphaned_data=True)
acc.Reload()
for tag in sorted(acc.Tags()["scalars"]):
    for e in acc.Scalars(tag):
        print(tag, e.step, repr(e.value))
