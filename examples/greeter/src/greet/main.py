GREETINGS = {"en": "Hello", "es": "Hola", "fr": "Bonjour"}


async def handler(ctx, data):
    return {"message": f"{GREETINGS.get(data['language'], 'Hello')}, {data['name']}!"}
