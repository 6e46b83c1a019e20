"""The commands on top: `optviz` (cli), and what its subcommands do beyond the shared flow in ``optviz.api``
(tune, gallery, trace export, registry listings). Commands only parse arguments and call into the flow."""
