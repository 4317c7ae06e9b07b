from ninja import Router

router = Router(tags=["Phản ánh, kiến nghị"])
