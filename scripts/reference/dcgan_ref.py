"""Reference for test/dcgan.test.ts: PyTorch's examples/dcgan main.py (its weights_init,
Generator, Discriminator and training loop, without argument parsing, torchvision datasets,
image saving, checkpoints and multi-GPU), in PyTorch.

Usage: dcgan_ref.py RUN.json IMAGES.safetensors OUT_DIR

RUN: nz, ngf, ndf, nc, batch_size, niter, lr, beta1, manual_seed. IMAGES: images (N, nc, 64, 64).
OUT_DIR gets init.safetensors and final.safetensors (both nets' state dicts, as G.* and D.*,
as built and initialised, and after training), fake.safetensors (netG(fixed_noise) at the end)
and out.json: each iteration's errD, errG, D_x, D_G_z1, D_G_z2.
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.optim as optim

import st


def main(run_path, images_path, out_dir):
    with open(run_path) as f:
        opt = json.load(f)
    nz, ngf, ndf, nc = opt["nz"], opt["ngf"], opt["ndf"], opt["nc"]
    torch.manual_seed(opt["manual_seed"])
    dataset = torch.utils.data.TensorDataset(st.load(images_path)["images"])
    dataloader = torch.utils.data.DataLoader(dataset, batch_size=opt["batch_size"], shuffle=True)

    # custom weights initialization called on netG and netD
    def weights_init(m):
        classname = m.__class__.__name__
        if classname.find('Conv') != -1:
            torch.nn.init.normal_(m.weight, 0.0, 0.02)
        elif classname.find('BatchNorm') != -1:
            torch.nn.init.normal_(m.weight, 1.0, 0.02)
            torch.nn.init.zeros_(m.bias)

    class Generator(nn.Module):
        def __init__(self):
            super(Generator, self).__init__()
            self.main = nn.Sequential(
                nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
                nn.BatchNorm2d(ngf * 8),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf * 4),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf * 2),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
                nn.Tanh()
            )

        def forward(self, input):
            return self.main(input)

    netG = Generator()
    netG.apply(weights_init)

    class Discriminator(nn.Module):
        def __init__(self):
            super(Discriminator, self).__init__()
            self.main = nn.Sequential(
                nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 2),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 4),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 8),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
                nn.Sigmoid()
            )

        def forward(self, input):
            output = self.main(input)
            return output.view(-1, 1).squeeze(1)

    netD = Discriminator()
    netD.apply(weights_init)
    states = lambda: {**{"G." + k: v.clone() for k, v in netG.state_dict().items()}, **{"D." + k: v.clone() for k, v in netD.state_dict().items()}}
    st.save(os.path.join(out_dir, "init.safetensors"), states())

    criterion = nn.BCELoss()
    fixed_noise = torch.randn(opt["batch_size"], nz, 1, 1)
    real_label = 1
    fake_label = 0
    optimizerD = optim.Adam(netD.parameters(), lr=opt["lr"], betas=(opt["beta1"], 0.999))
    optimizerG = optim.Adam(netG.parameters(), lr=opt["lr"], betas=(opt["beta1"], 0.999))

    steps = []
    for epoch in range(opt["niter"]):
        for i, data in enumerate(dataloader, 0):
            netD.zero_grad()
            real_cpu = data[0]
            batch_size = real_cpu.size(0)
            label = torch.full((batch_size,), real_label, dtype=real_cpu.dtype)
            output = netD(real_cpu)
            errD_real = criterion(output, label)
            errD_real.backward()
            D_x = output.mean().item()

            noise = torch.randn(batch_size, nz, 1, 1)
            fake = netG(noise)
            label.fill_(fake_label)
            output = netD(fake.detach())
            errD_fake = criterion(output, label)
            errD_fake.backward()
            D_G_z1 = output.mean().item()
            errD = errD_real + errD_fake
            optimizerD.step()

            netG.zero_grad()
            label.fill_(real_label)
            output = netD(fake)
            errG = criterion(output, label)
            errG.backward()
            D_G_z2 = output.mean().item()
            optimizerG.step()
            steps.append({"errD": errD.item(), "errG": errG.item(), "D_x": D_x, "D_G_z1": D_G_z1, "D_G_z2": D_G_z2})
    with torch.no_grad():
        fake = netG(fixed_noise)
    st.save(os.path.join(out_dir, "final.safetensors"), states())
    st.save(os.path.join(out_dir, "fake.safetensors"), {"fake": fake})
    with open(os.path.join(out_dir, "out.json"), "w") as f:
        json.dump({"steps": steps}, f)


if __name__ == "__main__":
    main(*sys.argv[1:4])
