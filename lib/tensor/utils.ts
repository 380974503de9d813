// torch.utils: what PyTorch keeps there beside the tensor API (torch.data has the data loaders).
export * as checkpoint from './checkpoint';
