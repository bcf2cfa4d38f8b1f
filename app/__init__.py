"""The application layer: what people run on top of the services.

    app.cli        the `pic-store` command line (admins and store authors)
    app.embedded   `pic-store up`: the real parts and the services on one machine, supervised
    app.review     the store review a service passes before it is merged
    app.publish    build, push, sign and pin a service's image

It stands on `shared/` (the contract, the infrastructure and the domain code) and talks to the
services over the bus only; `shared/` and the services never import it.
"""
