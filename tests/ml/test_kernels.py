import torch

from ml.kernels import configure_attention


def test_cuda_device_turns_cudnn_attention_off_and_cpu_leaves_it():
    before = torch.backends.cuda.cudnn_sdp_enabled()
    try:
        torch.backends.cuda.enable_cudnn_sdp(True)
        configure_attention(torch.device("cpu"))
        assert torch.backends.cuda.cudnn_sdp_enabled()
        configure_attention(torch.device("cuda"))  # flips the flag only; no GPU needed
        assert not torch.backends.cuda.cudnn_sdp_enabled()
    finally:
        torch.backends.cuda.enable_cudnn_sdp(before)
