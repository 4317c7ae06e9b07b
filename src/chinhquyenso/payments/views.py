from django.shortcuts import render

from .services import order_for_return


def payment_return(request):
    """/thanh-toan/ket-qua: where the gateway sends the citizen back. It only displays what
    the platform knows of the order (set by the verified IPN), never trusts the URL."""
    order, genuine = order_for_return(request.GET.dict())
    return render(request, "payments/return.html",
                  {"order": order if genuine else None, "forged": order is not None and
                   not genuine}, status=200 if genuine else 400)
