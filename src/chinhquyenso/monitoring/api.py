from ninja import Router

router = Router(tags=["Giám sát"])
