"""One module of page handlers per section of the console; each calls the domain services."""
