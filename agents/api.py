from ninja import Router, Schema

router = Router(tags=["agents"])


class WhoAmI(Schema):
    tenant: str
    key_name: str
    key_prefix: str


@router.get("/whoami", response=WhoAmI, summary="The tenant and key this request acts for")
def whoami(request):
    key = request.agent_key
    return {"tenant": key.tenant.slug, "key_name": key.name, "key_prefix": key.prefix}
