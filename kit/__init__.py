"""What a server made from this one keeps as it is: the setup tool's rooms."""
