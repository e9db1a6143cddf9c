"""W5 peers: TCP echo servers on asyncio, as asyncio users write them.
--api streams: start_server with a reader/writer per connection (read,
write, drain).  --api protocol: a Protocol whose data_received writes the
data back to its transport.  --uvloop runs either on uvloop.  --port P.
"""
import argparse
import asyncio


async def handle(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    writer.close()


class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


async def serve(api, port):
    loop = asyncio.get_running_loop()
    if api == "streams":
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    else:
        server = await loop.create_server(Echo, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8888)
    ap.add_argument("--api", choices=["streams", "protocol"], default="streams")
    ap.add_argument("--uvloop", action="store_true")
    a = ap.parse_args()
    if a.uvloop:
        import uvloop
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(serve(a.api, a.port))


if __name__ == "__main__":
    main()
