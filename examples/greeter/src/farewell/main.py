FAREWELLS = {"en": "Goodbye", "es": "Adiós", "fr": "Au revoir"}


async def handler(ctx, data):
    return {"message": f"{FAREWELLS.get(data['language'], 'Goodbye')}, {data['name']}!"}
