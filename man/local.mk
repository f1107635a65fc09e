# man/: mdoc(7) pages.
dist_man_MANS += man/logwire.1 man/logwire-bench.1
dist_man_MANS += man/logwired.8 man/logwire-protocol.7
