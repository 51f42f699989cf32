"""A NoneBot2 bot as an operator runs it: settings from .env in the working directory, one plugin."""

import nonebot
from nonebot.adapters.onebot.v11 import Adapter

nonebot.init()
nonebot.get_driver().register_adapter(Adapter)
nonebot.load_plugin("nonebot_ping")  # beside this file, which Python puts on sys.path

if __name__ == "__main__":
    nonebot.run()
