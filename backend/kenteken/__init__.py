"""The kenteken check: RDW open data for a boa on shift, cached, each lookup logged with its purpose."""
