"""The API contract: response models, route contracts, and the OpenAPI document built from them."""
