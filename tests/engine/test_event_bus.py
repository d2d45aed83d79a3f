"""The event bus on a real event loop: events published from a store thread while held reach
the relay and the subscribers only once the hold ends, in order, and none sooner."""

from __future__ import annotations

import asyncio
import threading

from jupyter_orch.engine.events.bus import Event, EventBus

NO_DATABASE = True


async def test_events_held_by_a_thread_go_out_in_order_when_it_lets_go() -> None:
    bus = EventBus("me")
    bus.bind(asyncio.get_running_loop())
    relayed: list[Event] = []
    delivered: list[Event] = []
    bus.relay_to(relayed.append)
    bus.subscribe(delivered.append)
    seen_inside: list[int] = []

    def store_thread_work() -> None:
        with bus.held():
            bus.publish("run", "r1", status="pending")
            with bus.held():  # a hold inside a hold lets go with the outer one
                bus.publish("task", "t1", status="pending")
            seen_inside.append(len(relayed))
            bus.publish("run", "r2", status="pending")
            seen_inside.append(len(relayed))
        bus.publish("run", "r1", status="running")  # not held: at once

    other = threading.Thread(target=store_thread_work)
    other.start()
    other.join()
    await asyncio.sleep(0.05)
    assert seen_inside == [0, 0]
    order = [("run", "r1", "pending"), ("task", "t1", "pending"), ("run", "r2", "pending"), ("run", "r1", "running")]
    assert [(e["kind"], e["id"], e["status"]) for e in relayed] == order
    assert [(e["kind"], e["id"], e["status"]) for e in delivered] == order


async def test_a_hold_on_one_thread_does_not_hold_another() -> None:
    bus = EventBus("me")
    relayed: list[Event] = []
    bus.relay_to(relayed.append)
    holding, published = threading.Event(), threading.Event()

    def hold() -> None:
        with bus.held():
            bus.publish("run", "held", status="pending")
            holding.set()
            published.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(5)
    bus.publish("run", "free", status="pending")
    assert [e["id"] for e in relayed] == ["free"]
    published.set()
    holder.join()
    assert [e["id"] for e in relayed] == ["free", "held"]
