"""Network building blocks shared by the methods (DCGAN, modulated convs, U-Net D, ...)."""
