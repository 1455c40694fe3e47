import os
import sys

for mod in ("ssl", "ctypes", "lzma"):
    try:
        __import__(mod)
        print(f"{mod}: importable")
    except ImportError as e:
        print(f"{mod}: {type(e).__name__}")
import threading

try:
    threading.Thread(target=print).start()
    print("threading: a thread started")
except RuntimeError as e:
    print(f"threading: RuntimeError: {e}")
import subprocess

try:
    subprocess.run(["id"])
    print("subprocess: ran")
except OSError as e:
    print(f"subprocess: {type(e).__name__}: {e}")
print(f"os.system: {hasattr(os, 'system')}")
import socket

try:
    socket.create_connection(("127.0.0.1", 80), timeout=1)
    print("socket: connected")
except Exception as e:
    print(f"socket: {type(e).__name__}")
import asyncio


async def nothing():
    return 1


try:
    asyncio.run(nothing())
    print("asyncio: ran")
except OSError as e:
    print(f"asyncio.run: {type(e).__name__}: {e}")
print(f"platform: {sys.platform} cwd: {os.getcwd()} version: {sys.version_info[:2]}")
