"""Every write of the reports app: report and bundle jobs, GRC connectors and deliveries, exports."""
