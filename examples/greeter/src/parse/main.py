# Reads the entrypoint's request and passes the name on, trimmed.
def init(ctx):
    ctx.set_value("language", ctx.get_config("GREETING_LANGUAGE") or "en")


async def handler(ctx, data):
    return {"name": data["name"].strip(), "language": ctx.get_value("language")}
