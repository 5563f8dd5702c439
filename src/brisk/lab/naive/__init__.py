"""The lab's "before": deliberately naive code serving the mix's endpoints. Lab use only."""
