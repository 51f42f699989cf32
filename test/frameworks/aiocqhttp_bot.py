"""An aiocqhttp bot as HoshinoBot runs one: answers group "ping" with "pong" through bot.send (self_id in the
params, as HoshinoBot passes it), and "quick" with a quick operation (over reverse WS aiocqhttp then calls
.handle_quick_operation_async). Its CQHttp(...) arguments come from the environment the test sets."""

import os

from aiocqhttp import ActionFailed, ApiNotAvailable, CQHttp, Event, NetworkError

from report import NAME, report

bot = CQHttp(
    api_root=os.environ.get("API_ROOT") or None,
    access_token=os.environ.get("ACCESS_TOKEN") or None,
    secret=os.environ.get("SECRET") or None,
)


@bot.on_meta_event("lifecycle")
async def on_lifecycle(event: Event) -> None:
    report("lifecycle", sub_type=event.sub_type, self_id=event.self_id)


@bot.on_meta_event("heartbeat")
async def on_heartbeat(event: Event) -> None:
    status = event["status"]
    report(
        "heartbeat",
        time=event["time"],
        self_id=event.self_id,
        online=status["online"],
        good=status["good"],
        interval=event["interval"],
    )


@bot.on_message("group")
async def on_group_message(event: Event):
    text = event.message if isinstance(event.message, str) else "".join(
        s["data"].get("text", "") for s in event.message if s["type"] == "text"
    )
    report("message", self_id=event.self_id, group_id=event.group_id, message_id=event.message_id, text=text)
    if text == "quick":
        return {"reply": f"quick pong from {NAME}"}
    if text != "ping":
        return None
    try:
        result = await bot.send(event, f"pong from {NAME}", self_id=event.self_id)
        report("sent", self_id=event.self_id, message_id=result["message_id"])
    except ActionFailed as e:
        report("failed", error="ActionFailed", retcode=e.retcode, message=e.result.get("message"))
    except (NetworkError, ApiNotAvailable) as e:
        report("failed", error=type(e).__name__, message=str(e))
    return None


if __name__ == "__main__":
    bot.run(host="127.0.0.1", port=int(os.environ["PORT"]))
