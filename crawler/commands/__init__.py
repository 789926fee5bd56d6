"""adwatch's Scrapy project commands (``COMMANDS_MODULE``): sweep, report, simulate."""
