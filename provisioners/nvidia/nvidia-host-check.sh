# Prints the NVIDIA kernel driver the node has loaded; exits non-zero unless it is the declared one.
loaded=$(phx_nvidia_kernel_version)
echo "NVIDIA driver ${loaded:-not loaded} on the node"
[ "$loaded" = "$NVIDIA_DRIVER_VERSION" ]
