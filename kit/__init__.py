"""What a server made from this one keeps as it is: what serves any tool (serving, stdio_repairs, identity),
and the setup tool's rooms, which the server never imports."""
