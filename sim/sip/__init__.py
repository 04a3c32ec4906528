"""SIP traffic over pjsua2: user agents, a loopback responder, the load generator, a softphone.

Nothing here imports pjsua2 at import time: the optional extra ``sip`` is only needed once a
user agent starts (``sim.sip.useragent``), so the command line and the planning code work
without it.
"""
