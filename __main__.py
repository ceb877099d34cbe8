"""The Pulumi program: the stack's typed config -> its stack program -> stack outputs."""

import stacks

stacks.run()
