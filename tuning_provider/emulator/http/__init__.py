"""The emulator's HTTP layer, on top of the resources: the route table (`app`), requests and
responses (`request`, `response`), the proto3 JSON mapping (`wire`, `messages`), Cloud
Storage's JSON API (`storage_api`), fault injection (`faults`) and serving on a socket
(`serving`). Nothing below it imports it."""
