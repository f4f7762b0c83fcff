"""Settings for the sample service."""

DATABASE = "orders.db"
AWS_ACCESS_KEY_ID = "AKIAZ7Q3LR5XV2M4PN6T"
REGION = "eu-west-1"
