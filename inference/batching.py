"""Dynamic batching of one model's calls, in the threads of the requests themselves (no thread of its own).

Requests that wait at once for the same loaded version are run as one forward pass, as Triton's dynamic
batcher does: a request joins a queue; one waiting request at a time is the leader, which (once the model is
free) waits at most `window_s` for `max_batch` requests, takes up to `max_batch` of the oldest, runs them
in one call and hands each its own answer. Requests that arrive while a batch runs queue up and form the
next one, so with `window_s == 0` batching costs a lone request nothing and still batches under load.

Guarantees, each tested in tests/inference/test_batching.py:
- One batcher per loaded version (the runtime's predictor owns it), so a batch never mixes versions: each
  request is answered by the version it was handed, across a promotion.
- The batch function answers one result per item, or an exception for an item it could not answer; a call
  that raises for the whole batch is retried item by item, so a bad input fails only its own request and
  a failure of the model answers each request with its own error.
- With `key`, a batch holds only items of one key (the oldest waiting item's; the others form the next
  batches): the yolo runtime keys images by shape, since ultralytics letterboxes a batch of mixed shapes to
  full squares and one image's answer would then depend on the others in its batch.
- A request whose item left the queue without an answer (an exception between taking and answering it)
  is answered with an error, never left waiting.
- The admission slot (atlas.admission) is taken before `submit`, so a worker holds at most
  ATLAS_SLOW_CONCURRENCY requests here and its timeouts and 503s are as without batching.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")

# Answers one result per item, in order; an item's entry may be the exception that item raised.
BatchFunction = Callable[[Sequence[In]], Sequence[Out | BaseException]]


class _Pending(Generic[In, Out]):
    __slots__ = ("item", "key", "done", "value", "error")

    def __init__(self, item: In, key: Hashable) -> None:
        self.item = item
        self.key = key
        self.done = False
        self.value: Out | None = None
        self.error: BaseException | None = None


class DynamicBatcher(Generic[In, Out]):
    def __init__(
        self,
        run: BatchFunction[In, Out],
        *,
        max_batch: int,
        window_s: float,
        key: Callable[[In], Hashable] = lambda item: None,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._run = run
        self._key = key
        self.max_batch = max_batch
        self.window_s = max(0.0, window_s)
        self._queue: deque[_Pending[In, Out]] = deque()
        self._cond = threading.Condition()
        self._leading = False
        self.batch_sizes: list[int] = []  # the size of every batch run, for tests and benches (bounded below)

    def submit(self, item: In) -> Out:
        """Run `item` in the next batch; its answer, or the exception raised for it."""
        pending: _Pending[In, Out] = _Pending(item, self._key(item))
        with self._cond:
            self._queue.append(pending)
            self._cond.notify_all()  # a leader waiting for a fuller batch counts again
            while not pending.done and self._leading:
                self._cond.wait()
            leader = not pending.done
            self._leading = self._leading or leader
        if leader:
            try:
                while not pending.done:  # the oldest go first: ours is in a batch within a few rounds
                    self._run_one_batch()
            finally:
                with self._cond:
                    self._leading = False
                    self._cond.notify_all()  # the next waiting request leads
        if pending.error is not None:
            raise pending.error
        return pending.value  # type: ignore[return-value]  # done without an error: the item's answer

    def _run_one_batch(self) -> None:
        with self._cond:
            if not self._queue:  # the leader's own item is not done, yet no item waits: it was lost
                raise RuntimeError("this request left the batch queue unanswered")
            deadline = time.monotonic() + self.window_s
            while len(self._batchable()) < self.max_batch and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)
            batch = self._batchable()[: self.max_batch]
            taken = set(map(id, batch))
            self._queue = deque(p for p in self._queue if id(p) not in taken)  # one assignment: nothing lost
        self._answer(batch)
        with self._cond:
            self.batch_sizes.append(len(batch))
            del self.batch_sizes[:-1000]
            self._cond.notify_all()  # the requests of this batch are done

    def _batchable(self) -> list[_Pending[In, Out]]:
        """The waiting items of the oldest's key, oldest first."""
        key = self._queue[0].key
        return [p for p in self._queue if p.key == key]

    def _answer(self, batch: list[_Pending[In, Out]]) -> None:
        # KeyboardInterrupt or SystemExit out of the model: still, no request of the batch waits forever
        results: list[Out | BaseException] = [RuntimeError("the worker stopped during this batch")] * len(batch)
        try:
            results = self._results(batch)
        finally:
            for pending, result in zip(batch, results, strict=True):
                if isinstance(result, BaseException):
                    pending.error = result
                else:
                    pending.value = result
                pending.done = True

    def _results(self, batch: list[_Pending[In, Out]]) -> list[Out | BaseException]:
        try:
            results = list(self._run([p.item for p in batch]))
            if len(results) != len(batch):
                raise RuntimeError(f"the batch function answered {len(results)} results for {len(batch)} items")
        except Exception as exc:  # noqa: BLE001 -- the whole call failed: each item alone, or its error
            if len(batch) == 1:
                results = [exc]
            else:
                results = [self._alone(p.item) for p in batch]
        return results

    def _alone(self, item: In) -> Out | BaseException:
        try:
            return self._run([item])[0]
        except Exception as exc:  # noqa: BLE001 -- this item's own error, answered to its request
            return exc
