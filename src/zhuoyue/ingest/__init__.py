"""Readers that bring data into zhuoyue: files (CSV, Excel, Parquet) now; MQTT, OPC UA later."""
