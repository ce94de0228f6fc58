"""The `authentic` command line: argument parsing and commands (`main`), the REST client with optional SigV4
(`client`), the flows behind the commands (`flows`: import a folder, train and wait, verify and annotate), and
the demo (`demo`) with its synthetic brand (`synthetic`).

The top layer: may import anything in `authentic`.
"""
