"""The MCD43A4 product's names and encoding, shared by the blob and STAC routes."""

COLLECTION = "modis-43A4-061"
NBAR_BANDS = tuple(f"Nadir_Reflectance_Band{i}" for i in range(1, 8))
QA_BANDS = tuple(f"BRDF_Albedo_Band_Mandatory_Quality_Band{i}" for i in range(1, 8))
RED, NIR = "Nadir_Reflectance_Band1", "Nadir_Reflectance_Band2"
NBAR_SCALE = 0.0001
NBAR_FILL = 32767
