"""The local stack: moto server, template resources, API gateway emulation, queue pump."""
