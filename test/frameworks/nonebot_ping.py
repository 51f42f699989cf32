"""The NoneBot2 plugin of the test bot: reports lifecycle and heartbeat events, answers group "ping" with "pong",
and answers "flood N" with N messages at once, as a broadcasting plugin does."""

import asyncio

from nonebot import on_message, on_metaevent
from nonebot.adapters.onebot.v11 import (
    ActionFailed,
    Bot,
    GroupMessageEvent,
    HeartbeatMetaEvent,
    LifecycleMetaEvent,
    MetaEvent,
    NetworkError,
)
from report import NAME, report

meta = on_metaevent()


@meta.handle()
async def on_meta(event: MetaEvent) -> None:
    if isinstance(event, LifecycleMetaEvent):
        report("lifecycle", type=type(event).__name__, sub_type=event.sub_type, self_id=event.self_id)
    elif isinstance(event, HeartbeatMetaEvent):
        report(
            "heartbeat",
            type=type(event).__name__,
            time=event.time,
            self_id=event.self_id,
            online=event.status.online,
            good=event.status.good,
            interval=event.interval,
        )


ping = on_message()


@ping.handle()
async def on_group_message(bot: Bot, event: GroupMessageEvent) -> None:
    text = event.get_plaintext()
    report(
        "message",
        type=type(event).__name__,
        self_id=event.self_id,
        group_id=event.group_id,
        message_id=event.message_id,
        text=text,
    )
    if text.startswith("flood "):
        await flood(bot, event, int(text.split()[1]))
        return
    if text != "ping":
        return
    try:
        result = await bot.send(event, f"pong from {NAME}")
        report("sent", self_id=event.self_id, message_id=result["message_id"])
    except ActionFailed as e:
        report("failed", error="ActionFailed", retcode=e.info.get("retcode"), message=e.info.get("message"))
    except NetworkError as e:
        report("failed", error="NetworkError", message=e.msg)


async def flood(bot: Bot, event: GroupMessageEvent, count: int) -> None:
    """All at once; each call waits for its own answer (NoneBot's api_timeout, 30 s by default)."""
    sends = [bot.send(event, f"flood {n} from {NAME}") for n in range(1, count + 1)]
    results = await asyncio.gather(*sends, return_exceptions=True)
    failures = [f"{type(r).__name__}: {getattr(r, 'info', r)}" for r in results if isinstance(r, BaseException)]
    report("flooded", sent=count - len(failures), failures=failures)
